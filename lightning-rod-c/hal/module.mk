# lightning-rod-c/hal: the board's HAL (liblrchal: GPIO, sensors, device specs,
# DeviceCaps parts), and liblrcio: the line-framed Unix sockets of the agent
# (the per-container IO socket and the control socket with its client).
$(call LIB,lrchal,$(wildcard lightning-rod-c/hal/*.c),$(LDLIBS_GPIO) -lev)

LRCIO_SRCS := $(addprefix lightning-rod-c/src/,linesock.c iosock.c ctl.c ctl_sim.c ctl_client.c)
$(call LIB,lrcio,$(LRCIO_SRCS),-lev)
