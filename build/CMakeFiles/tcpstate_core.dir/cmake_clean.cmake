file(REMOVE_RECURSE
  "CMakeFiles/tcpstate_core.dir/plugin/classify.c.o"
  "CMakeFiles/tcpstate_core.dir/plugin/classify.c.o.d"
  "CMakeFiles/tcpstate_core.dir/plugin/conn.c.o"
  "CMakeFiles/tcpstate_core.dir/plugin/conn.c.o.d"
  "CMakeFiles/tcpstate_core.dir/plugin/fsm.c.o"
  "CMakeFiles/tcpstate_core.dir/plugin/fsm.c.o.d"
  "libtcpstate_core.a"
  "libtcpstate_core.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/tcpstate_core.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
