# Empty dependencies file for tcpstate_core.
# This may be replaced when dependencies are built.
