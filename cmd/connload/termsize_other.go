//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import "os"

// termColumns returns 0: the width of a terminal is not read on this
// platform, and the status line keeps to $COLUMNS or 80 columns.
func termColumns(*os.File) int { return 0 }
