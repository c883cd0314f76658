file(REMOVE_RECURSE
  "libtcpstate_core.a"
)
