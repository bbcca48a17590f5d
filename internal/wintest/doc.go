// Package wintest helps the Windows unit tests, which also run under Wine
// (`make test-windows`). It is empty on other systems.
package wintest
