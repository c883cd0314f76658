# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test(unit.fsm_cells "/work/main/build/tests/test_fsm" "cells" "/work/main/tests/unit/fsm_cells.tsv")
set_tests_properties(unit.fsm_cells PROPERTIES  _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;15;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit.fsm_scenarios "/work/main/build/tests/test_fsm" "scenario" "/work/main/tests/unit/scenarios.txt")
set_tests_properties(unit.fsm_scenarios PROPERTIES  _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;17;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(tshark.plugin "/usr/bin/python3" "-m" "pytest" "-q" "-p" "no:cacheprovider" "--rootdir=/work/main/tests" "--plugin-path=/work/main/build/tcpstate.so" "--source-dir=/work/main" "/work/main/tests/tshark/test_plugin.py")
set_tests_properties(tshark.plugin PROPERTIES  ENVIRONMENT "TZ=UTC" WORKING_DIRECTORY "/work/main/build/tests" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;29;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(tshark.captures "/usr/bin/python3" "-m" "pytest" "-q" "-p" "no:cacheprovider" "--rootdir=/work/main/tests" "--plugin-path=/work/main/build/tcpstate.so" "--source-dir=/work/main" "/work/main/tests/tshark/test_captures.py")
set_tests_properties(tshark.captures PROPERTIES  ENVIRONMENT "TZ=UTC" WORKING_DIRECTORY "/work/main/build/tests" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;29;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(tshark.kernel "/usr/bin/python3" "-m" "pytest" "-q" "-p" "no:cacheprovider" "--rootdir=/work/main/tests" "--plugin-path=/work/main/build/tcpstate.so" "--source-dir=/work/main" "/work/main/tests/tshark/test_kernel.py")
set_tests_properties(tshark.kernel PROPERTIES  ENVIRONMENT "TZ=UTC" WORKING_DIRECTORY "/work/main/build/tests" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;29;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(tshark.corpus "/usr/bin/python3" "-m" "pytest" "-q" "-p" "no:cacheprovider" "--rootdir=/work/main/tests" "--plugin-path=/work/main/build/tcpstate.so" "--source-dir=/work/main" "/work/main/tests/tshark/test_corpus.py")
set_tests_properties(tshark.corpus PROPERTIES  ENVIRONMENT "TZ=UTC" WORKING_DIRECTORY "/work/main/build/tests" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;29;add_test;/work/main/tests/CMakeLists.txt;0;")
