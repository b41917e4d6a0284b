/* systemd1.h: where systemd's manager is on the bus (org.freedesktop.systemd1(5)). */
#pragma once

#define SYSTEMD1_DEST "org.freedesktop.systemd1"
#define SYSTEMD1_PATH "/org/freedesktop/systemd1"
#define SYSTEMD1_MANAGER "org.freedesktop.systemd1.Manager"
