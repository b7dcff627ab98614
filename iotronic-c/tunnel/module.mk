# iotronic-c/tunnel: wstun-compatible reverse tunnels (board-protocol.md 9).
# One library for both sides: the wagent links the server, the board agent the
# client; static linking pulls only the objects each one uses. The proof of
# 9.5 comes from wamp/cra.h (link iotwamp after iottun).
$(call LIB,iottun,$(wildcard iotronic-c/tunnel/*.c),$(LDLIBS_LWS) -lev)
$(call PROG,lrc-wstun,lightning-rod-c/src/lrc-wstun.c,iottun iotwamp iotloop iotcommon)
INSTALL_BINS += lrc-wstun
