package minikube_test

import (
	"os"
	"testing"

	"github.com/gcrcred/gcrcred/test/fakeminikube/fakecluster"
)

func TestMain(m *testing.M) {
	code := m.Run()
	fakecluster.RemoveBuilds()
	os.Exit(code)
}
