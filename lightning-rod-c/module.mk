# lightning-rod-c: the board agent (board-protocol.md 10). Its core and RPC
# modules are the library liblrcagent (the unit tests link it); the program
# is main.c on top of it, the HAL (hal/module.mk), the IO and control sockets
# and the function executor (fn/module.mk), the tunnel client and the WAMP
# codec. No libpq and no librabbitmq: a board links only what it needs.
LRCAGENT_SRCS := $(addprefix lightning-rod-c/src/,agent.c agent_settings.c cmdrun.c conf.c device_pkg.c link.c \
	link_steps.c netinfo.c outbox.c plugin_runner.c plugins.c plugins_run.c restsubmit.c rpc.c \
	rpc_device.c rpc_function.c rpc_io.c rpc_plugin.c services.c settings.c statefile.c wsconn.c) \
	$(wildcard lightning-rod-c/src/trigger*.c)
$(call LIB,lrcagent,$(LRCAGENT_SRCS),$(LDLIBS_LWS) -lev)
$(call PROG,lightning-rod-c,lightning-rod-c/src/main.c,lrcagent lrcfn lrcio lrchal iottun iotwamp iotloop iotcommon)
INSTALL_BINS += lightning-rod-c
# The executor's startup probe and the helpers (lrc-fetch, lrc-unpack); the
# agent finds them in $(PREFIX)/lib when the default /usr/lib path is absent
# (src/conf.c, src/helper.h). The sample configuration and the systemd unit
# are installed by etc/module.mk.
INSTALL_EXTRA += for h in lrc-probe lrc-fetch lrc-unpack; do \
	install -D -m 0755 $(BUILD)/bin/$$h $(DESTDIR)$(PREFIX)/lib/lightning-rod-c/$$h || exit 1; done;
