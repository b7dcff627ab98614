# lightning-rod-c function executor (library liblrcfn): the container runner
# (ctr_*), the function executions, caches, downloads and warm pool (fn_*),
# the helper-process runner, and the static startup probe program that runs
# inside a probe container. Neither libcurl nor libarchive: downloads and
# unpacking run in the helper programs (helpers/module.mk, src/helper.h).
LRCFN_SRCS := $(filter-out lightning-rod-c/src/fn_archive.c,\
	$(wildcard lightning-rod-c/src/ctr_*.c lightning-rod-c/src/fn_*.c)) lightning-rod-c/src/helper.c
$(call LIB,lrcfn,$(LRCFN_SRCS),-lev)

# The probe is linked statically (it runs in a rootfs that holds only itself)
# and never with the sanitizers, whose runtimes cannot be static.
$(BUILD)/bin/lrc-probe: lightning-rod-c/probe/probe.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -static -o $@ $<
ALL_PROGS += $(BUILD)/bin/lrc-probe
