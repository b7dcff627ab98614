# iotronic-c/tunnel: wstun-compatible reverse tunnels (board-protocol.md 9).
# One library for both sides: the wagent links the server, the board agent the
# client; static linking pulls only the objects each one uses.
$(call LIB,iottun,$(wildcard iotronic-c/tunnel/*.c),$(LDLIBS_LWS) -lev)
$(call PROG,lrc-wstun,lightning-rod-c/src/lrc-wstun.c,iottun iotloop iotcommon)
INSTALL_BINS += lrc-wstun
