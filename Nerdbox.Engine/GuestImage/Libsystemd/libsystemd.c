/*
 * The guest's libsystemd.so.0: the functions crun imports, answering as a system without systemd does.
 *
 * crun links libsystemd for its systemd cgroup manager (sd-bus), for logging to journald and for sd_notify. The guest
 * has no systemd: crun runs there with the cgroupfs manager and logs to a file. The real library would cost the
 * initramfs 3.4 MB with the five libraries it pulls in (libgcrypt, libgpg-error, libzstd, liblzma, liblz4) and the
 * dynamic loader five more libraries to map and relocate at every crun call. The image builder checks that this file
 * defines every libsystemd function the host's crun imports, and keeps the real library when it does not.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

/* sd-bus: no bus to connect to. */
int sd_bus_default_system(void **bus) { (void)bus; return -ENOSYS; }
int sd_bus_default_user(void **bus) { (void)bus; return -ENOSYS; }
int sd_bus_call(void *bus, void *m, unsigned long long usec, void *error, void **reply) { (void)bus; (void)m; (void)usec; (void)error; (void)reply; return -ENOSYS; }
void sd_bus_error_free(void *error) { (void)error; }
int sd_bus_error_get_errno(const void *error) { (void)error; return 0; }
int sd_bus_match_signal_async(void *bus, void **slot, const char *sender, const char *path, const char *interface, const char *member,
                              void *callback, void *install_callback, void *userdata)
{
    (void)bus; (void)slot; (void)sender; (void)path; (void)interface; (void)member; (void)callback; (void)install_callback; (void)userdata;
    return -ENOSYS;
}
int sd_bus_message_append(void *m, const char *types, ...) { (void)m; (void)types; return -ENOSYS; }
int sd_bus_message_append_strv(void *m, char **l) { (void)m; (void)l; return -ENOSYS; }
int sd_bus_message_close_container(void *m) { (void)m; return -ENOSYS; }
int sd_bus_message_new_method_call(void *bus, void **m, const char *destination, const char *path, const char *interface, const char *member)
{
    (void)bus; (void)m; (void)destination; (void)path; (void)interface; (void)member;
    return -ENOSYS;
}
int sd_bus_message_open_container(void *m, char type, const char *contents) { (void)m; (void)type; (void)contents; return -ENOSYS; }
int sd_bus_message_read(void *m, const char *types, ...) { (void)m; (void)types; return -ENOSYS; }
void *sd_bus_message_unref(void *m) { (void)m; return NULL; }
int sd_bus_process(void *bus, void **r) { (void)bus; (void)r; return -ENOSYS; }
void *sd_bus_unref(void *bus) { (void)bus; return NULL; }
int sd_bus_wait(void *bus, unsigned long long timeout_usec) { (void)bus; (void)timeout_usec; return -ENOSYS; }

/* journald: none to log to. */
int sd_journal_send_with_location(const char *file, const char *line, const char *func, const char *format, ...)
{
    (void)file; (void)line; (void)func; (void)format;
    return -ENOSYS;
}

/* sd_notify: without $NOTIFY_SOCKET there is nothing to notify, which is success (0), as in systemd's own. */
int sd_notify(int unset_environment, const char *state) { (void)unset_environment; (void)state; return getenv("NOTIFY_SOCKET") ? -ENOSYS : 0; }
int sd_notify_barrier(int unset_environment, unsigned long long timeout) { (void)unset_environment; (void)timeout; return getenv("NOTIFY_SOCKET") ? -ENOSYS : 0; }
