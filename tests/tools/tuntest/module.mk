# tests/tools/tuntest: a tunnel server with an allowlist (standing in for the
# wagent) and a tunnel client (standing in for the board agent), for tests.
$(call PROG,tuntest,tests/tools/tuntest/tuntest.c,iottun iotwamp iotloop iotcommon)
