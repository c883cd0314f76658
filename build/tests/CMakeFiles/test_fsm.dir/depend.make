# Empty dependencies file for test_fsm.
# This may be replaced when dependencies are built.
