# wampcheck: libiotwamp on the command line, for the autobahn cross-checks
# (tests/integration/test_wamp_autobahn.py) and the codec's measurements
# (wampcheck bench counts allocations by wrapping malloc). Test-only.
wampcheck_comma := ,
wampcheck_wrap := -Wl$(wampcheck_comma)--wrap=malloc$(wampcheck_comma)--wrap=calloc$(wampcheck_comma)--wrap=realloc
$(call PROG,wampcheck,tests/tools/wampcheck/wampcheck.c,iotwamp iotcommon,$(wampcheck_wrap))
