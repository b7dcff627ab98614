# tools/lr-swarm: thousands of simulated boards in one process, each a real
# WebSocket + WAMP session to a wagent (registration, WAMP-CRA, board RPCs,
# pings, optional tunnels), for the benchmark and the scale tests.
$(call PROG,lr-swarm,$(wildcard tools/lr-swarm/*.c),iottun iotwamp iotloop iotcommon)
