# lightning-rod-c/hal: the board's HAL (liblrchal: GPIO, sensors, device specs,
# DeviceCaps parts).
$(call LIB,lrchal,$(wildcard lightning-rod-c/hal/*.c),$(LDLIBS_GPIO) -lev)
