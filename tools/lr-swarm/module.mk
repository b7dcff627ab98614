# tools/lr-swarm: thousands of simulated boards in one process, each a real
# WebSocket + WAMP session to a wagent (registration, WAMP-CRA, board RPCs,
# pings, optional tunnels), for the benchmark and the scale tests.
# liblrswarm holds the pure parsers of what a wagent sends (wsframe.c), so
# that the unit tests and the fuzz target link them.
$(call LIB,lrswarm,tools/lr-swarm/wsframe.c,)
$(call PROG,lr-swarm,$(filter-out tools/lr-swarm/wsframe.c,$(wildcard tools/lr-swarm/*.c)),lrswarm iottun iotwamp iotloop iotcommon)
