package fakegcr

import "github.com/gcrcred/gcrcred/test/fakegoogle"

// Start runs a fake Google and a registry that trusts it, for programs that
// need both (the demo, fakeserve); stop closes them.
func Start() (g *fakegoogle.Google, reg *Registry, stop func(), err error) {
	if g, err = fakegoogle.New(); err != nil {
		return nil, nil, nil, err
	}
	if reg, err = New(g); err != nil {
		g.Close()
		return nil, nil, nil, err
	}
	return g, reg, func() { reg.Close(); g.Close() }, nil
}
