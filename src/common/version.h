/* version.h — the one place the release version is written. */
#ifndef LH_COMMON_VERSION_H
#define LH_COMMON_VERSION_H
#define LH_VERSION "0.1.0"
#endif
