// Package isnil tells a nil interface, or one holding a nil pointer, map,
// slice, func or channel, from a usable value: what a user's dial function
// or connection may hand the pools where calling a method would panic.
package isnil

import "reflect"

// Value reports whether v is nil, or holds a nil value of a kind that can
// be nil.
func Value(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		return rv.IsNil()
	}
	return false
}
