# wampcheck: libiotwamp on the command line, for the autobahn cross-checks
# (tests/integration/test_wamp_autobahn.py). Test-only; not installed.
$(call PROG,wampcheck,tests/tools/wampcheck/wampcheck.c,iotwamp iotcommon)
