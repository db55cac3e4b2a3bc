/*
 * sharing.h - the parts of the sharing rule (domain.c, top) that look
 * beyond st_mode: POSIX ACLs, and whether a shared directory's owner is a
 * member of its group.
 */
#ifndef SHIM_DOMAIN_SHARING_H
#define SHIM_DOMAIN_SHARING_H

#include <stdbool.h>
#include <sys/types.h>

/* Does the file open on fd carry a POSIX ACL (a system.posix_acl_access
 * or, for a directory, system.posix_acl_default extended attribute)?  Read
 * with fgetxattr on the fd already held, no libacl.  A file system without
 * extended attributes has none. */
bool sharing_has_acl(int fd);

/* Is uid owner root, this process's effective user (whose groups the
 * caller checked), or a member of group gid as /etc/passwd (primary
 * group) and /etc/group (member list) say?  Those two files are read
 * directly, with plain reads: no NSS module is ever loaded into a host
 * program, so a membership known only to another source (LDAP, sssd) is
 * not seen, and such a directory must be root's. */
bool sharing_owner_is_member(uid_t owner, gid_t gid);

#endif
