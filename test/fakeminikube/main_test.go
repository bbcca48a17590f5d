package main

import (
	"testing"

	"github.com/gcrcred/gcrcred/test/fakeminikube/fakecluster"
)

func TestMain(m *testing.M) { fakecluster.Main(m) }
