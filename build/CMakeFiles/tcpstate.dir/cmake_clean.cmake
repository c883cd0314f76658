file(REMOVE_RECURSE
  "CMakeFiles/tcpstate.dir/plugin/extract.c.o"
  "CMakeFiles/tcpstate.dir/plugin/extract.c.o.d"
  "CMakeFiles/tcpstate.dir/plugin/packet-tcpstate.c.o"
  "CMakeFiles/tcpstate.dir/plugin/packet-tcpstate.c.o.d"
  "CMakeFiles/tcpstate.dir/plugin/plugin.c.o"
  "CMakeFiles/tcpstate.dir/plugin/plugin.c.o.d"
  "CMakeFiles/tcpstate.dir/plugin/store.c.o"
  "CMakeFiles/tcpstate.dir/plugin/store.c.o.d"
  "tcpstate.pdb"
  "tcpstate.so"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/tcpstate.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
