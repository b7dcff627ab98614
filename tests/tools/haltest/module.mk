# tests/tools/haltest: hosts the HAL (sim), the control socket and IO sockets
# on a real loop for the integration tests (tests/integration/test_hal_ctl.py,
# test_iosock.py) and for trying an IO socket from inside a container.
$(call PROG,haltest,tests/tools/haltest/haltest.c,lrcio lrchal iotloop iotcommon)
