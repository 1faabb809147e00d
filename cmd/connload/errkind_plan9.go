package main

// sysKind returns kindOther: Plan 9 reports network errors as strings, not
// codes, so its resets and refusals are not told apart.
func sysKind(error) errKind { return kindOther }
