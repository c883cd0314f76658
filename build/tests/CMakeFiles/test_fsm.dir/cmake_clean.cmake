file(REMOVE_RECURSE
  "CMakeFiles/test_fsm.dir/__/plugin/classify.c.o"
  "CMakeFiles/test_fsm.dir/__/plugin/classify.c.o.d"
  "CMakeFiles/test_fsm.dir/__/plugin/conn.c.o"
  "CMakeFiles/test_fsm.dir/__/plugin/conn.c.o.d"
  "CMakeFiles/test_fsm.dir/__/plugin/fsm.c.o"
  "CMakeFiles/test_fsm.dir/__/plugin/fsm.c.o.d"
  "CMakeFiles/test_fsm.dir/unit/test_fsm.c.o"
  "CMakeFiles/test_fsm.dir/unit/test_fsm.c.o.d"
  "test_fsm"
  "test_fsm.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_fsm.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
