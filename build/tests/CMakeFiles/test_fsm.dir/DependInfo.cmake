
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/plugin/classify.c" "tests/CMakeFiles/test_fsm.dir/__/plugin/classify.c.o" "gcc" "tests/CMakeFiles/test_fsm.dir/__/plugin/classify.c.o.d"
  "/work/main/plugin/conn.c" "tests/CMakeFiles/test_fsm.dir/__/plugin/conn.c.o" "gcc" "tests/CMakeFiles/test_fsm.dir/__/plugin/conn.c.o.d"
  "/work/main/plugin/fsm.c" "tests/CMakeFiles/test_fsm.dir/__/plugin/fsm.c.o" "gcc" "tests/CMakeFiles/test_fsm.dir/__/plugin/fsm.c.o.d"
  "/work/main/tests/unit/test_fsm.c" "tests/CMakeFiles/test_fsm.dir/unit/test_fsm.c.o" "gcc" "tests/CMakeFiles/test_fsm.dir/unit/test_fsm.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
