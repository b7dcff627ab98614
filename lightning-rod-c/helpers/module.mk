# lightning-rod-c/helpers: the board agent's helper programs (hlp.h), the
# only programs of a board that link libcurl (lrc-fetch) and libarchive
# (lrc-unpack); the agent runs them through src/helper.h. liblrcunpack is the
# archive checker and extractor (src/fn_archive.h), a library so that the
# unit tests reach it. --as-needed: each helper loads only the libraries it
# calls, which shortens its start (it runs once per download).
$(call LIB,lrcunpack,lightning-rod-c/src/fn_archive.c,$(LDLIBS_ARCHIVE))
LRCHELPER_SRCS := lightning-rod-c/helpers/hlp.c
$(call PROG,lrc-fetch,lightning-rod-c/helpers/lrc-fetch.c lightning-rod-c/helpers/fetch_blob.c \
	lightning-rod-c/helpers/fetch_rest.c $(LRCHELPER_SRCS),iotcommon,$(LDLIBS_CURL))
$(call PROG,lrc-unpack,lightning-rod-c/helpers/lrc-unpack.c $(LRCHELPER_SRCS),lrcunpack lrcfn \
	iotcommon)
$(BUILD)/bin/lrc-fetch $(BUILD)/bin/lrc-unpack: LDFLAGS += -Wl,--as-needed
