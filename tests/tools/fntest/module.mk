# tests/tools/fntest: hosts the function executor (liblrcfn) with the sim HAL,
# IO sockets and the control socket on a real loop, for the integration tests
# (tests/integration/test_fn_*.py) and the measurements.
$(call PROG,fntest,tests/tools/fntest/fntest.c,lrcfn lrcio lrchal iotloop iotcommon)
