package provider

import (
	"testing"
	"time"
)

func TestCacheDuration(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		left, want time.Duration
	}{
		{time.Hour, 55 * time.Minute},
		{time.Hour - 300*time.Millisecond, 54*time.Minute + 59*time.Second}, // truncated, never longer
		{10 * time.Minute, 5 * time.Minute},
		{5 * time.Minute, 0},
		{time.Minute, 0},
		{-time.Minute, 0},                // expired: never negative
		{48 * time.Hour, 12 * time.Hour}, // no Google token lives longer than 12 h
	}
	for _, c := range cases {
		if got := CacheDuration(now.Add(c.left), now); got != c.want {
			t.Errorf("token with %s left: cacheDuration %s, want %s", c.left, got, c.want)
		}
	}
}
