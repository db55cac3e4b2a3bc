# tools/bridge/local.mk - the bridge (issue 16): its transport through NATS
# JetStream, linked into the inotify-shim command only (never into
# libinotify-shim.so, which must not depend on libnats); included by
# Makefile.am after tools/local.mk.

BRIDGE_TRANSPORT = \
	tools/bridge/record.c tools/bridge/record.h \
	tools/bridge/order.c tools/bridge/order.h \
	tools/bridge/transport.c tools/bridge/transport.h
if HAVE_NATS
tools_inotify_shim_SOURCES += $(BRIDGE_TRANSPORT)
tools_inotify_shim_CFLAGS += $(NATS_CFLAGS)
tools_inotify_shim_LDADD += $(NATS_LIBS)
else
EXTRA_DIST += $(BRIDGE_TRANSPORT)
endif
