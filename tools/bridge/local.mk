# tools/bridge/local.mk - the bridge (issue 16): its transport through NATS
# JetStream, linked into the inotify-shim command only (never into
# libinotify-shim.so, which must not depend on libnats); included by
# Makefile.am after tools/local.mk.

BRIDGE_TRANSPORT = \
	tools/bridge/record.c tools/bridge/record.h \
	tools/bridge/order.c tools/bridge/order.h \
	tools/bridge/transport.c tools/bridge/transport.h \
	tools/bridge/consume.c tools/bridge/transport_int.h
BRIDGE_COMMAND = \
	tools/bridge/roots.c tools/bridge/roots.h \
	tools/bridge/cookies.c tools/bridge/cookies.h \
	tools/bridge/inject.c tools/bridge/inject.h tools/bridge/overflow.c \
	tools/bridge/tap.c tools/bridge/tap.h
tools_inotify_shim_CPPFLAGS += -I$(srcdir)/tools
# the command: cmd.c says "built without NATS" when libnats is missing
tools_inotify_shim_SOURCES += tools/bridge/cmd.c
# the bridges' state files: written by a bridge, read by ps (built always)
tools_inotify_shim_SOURCES += tools/bridge/status.c tools/bridge/status.h
if HAVE_NATS
tools_inotify_shim_SOURCES += $(BRIDGE_TRANSPORT) $(BRIDGE_COMMAND)
tools_inotify_shim_CFLAGS += $(NATS_CFLAGS)
tools_inotify_shim_LDADD += $(NATS_LIBS)
else
EXTRA_DIST += $(BRIDGE_TRANSPORT) $(BRIDGE_COMMAND)
endif

# ---- the bridge's systemd user unit (systemduserunitdir: configure.ac)
systemduserunit_DATA = tools/bridge/inotify-shim-bridge@.service
CLEANFILES += tools/bridge/inotify-shim-bridge@.service
EXTRA_DIST += tools/bridge/inotify-shim-bridge@.service.in
tools/bridge/inotify-shim-bridge@.service: $(srcdir)/tools/bridge/inotify-shim-bridge@.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) tools/bridge && \
	sed 's|@bindir[@]|$(bindir)|g' $(srcdir)/tools/bridge/inotify-shim-bridge@.service.in >$@
