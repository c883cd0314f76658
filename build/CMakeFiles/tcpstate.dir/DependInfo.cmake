
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/plugin/extract.c" "CMakeFiles/tcpstate.dir/plugin/extract.c.o" "gcc" "CMakeFiles/tcpstate.dir/plugin/extract.c.o.d"
  "/work/main/plugin/packet-tcpstate.c" "CMakeFiles/tcpstate.dir/plugin/packet-tcpstate.c.o" "gcc" "CMakeFiles/tcpstate.dir/plugin/packet-tcpstate.c.o.d"
  "/work/main/plugin/plugin.c" "CMakeFiles/tcpstate.dir/plugin/plugin.c.o" "gcc" "CMakeFiles/tcpstate.dir/plugin/plugin.c.o.d"
  "/work/main/plugin/store.c" "CMakeFiles/tcpstate.dir/plugin/store.c.o" "gcc" "CMakeFiles/tcpstate.dir/plugin/store.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/CMakeFiles/tcpstate_core.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
