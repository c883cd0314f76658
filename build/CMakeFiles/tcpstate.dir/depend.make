# Empty dependencies file for tcpstate.
# This may be replaced when dependencies are built.
