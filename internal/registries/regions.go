package registries

import "strings"

// Artifact Registry's Docker hosts are LOCATION-docker.pkg.dev, one per
// location. Most repositories are regional, and Docker sends a host to
// gcrcred only if its config names that exact host, so `configure-docker
// --all-regions` writes every one of this list and `doctor` checks a host
// against it. The list is Google's published locations; a location added
// later is still served (by the *.pkg.dev pattern) and can be added with
// --registries.
var (
	// MultiRegions are the multi-region locations.
	MultiRegions = []string{"asia", "europe", "us"}
	// Regions are the regional locations.
	Regions = []string{
		"africa-south1",
		"asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3",
		"asia-south1", "asia-south2", "asia-southeast1", "asia-southeast2",
		"australia-southeast1", "australia-southeast2",
		"europe-central2", "europe-north1", "europe-north2", "europe-southwest1",
		"europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-west6",
		"europe-west8", "europe-west9", "europe-west10", "europe-west12",
		"me-central1", "me-central2", "me-west1",
		"northamerica-northeast1", "northamerica-northeast2", "northamerica-south1",
		"southamerica-east1", "southamerica-west1",
		"us-central1", "us-east1", "us-east4", "us-east5", "us-south1",
		"us-west1", "us-west2", "us-west3", "us-west4",
	}
	// GCRHosts are Container Registry's hosts.
	GCRHosts = []string{"gcr.io", "us.gcr.io", "eu.gcr.io", "asia.gcr.io", "marketplace.gcr.io"}
)

// ArtifactRegistryHost is the Docker host of an Artifact Registry location.
func ArtifactRegistryHost(location string) string { return location + "-docker.pkg.dev" }

// ArtifactRegistryHosts is the Docker host of every location: the
// multi-regions, then the regions.
func ArtifactRegistryHosts() []string {
	var hosts []string
	for _, l := range append(append([]string{}, MultiRegions...), Regions...) {
		hosts = append(hosts, ArtifactRegistryHost(l))
	}
	return hosts
}

// KnownHosts are Google's registry hosts by name: Container Registry's and
// every Artifact Registry location's, for "did you mean".
func KnownHosts() []string {
	return append(append([]string{"container.cloud.google.com"}, GCRHosts...), ArtifactRegistryHosts()...)
}

// ArtifactRegistryLocation is the location of an Artifact Registry Docker
// host (europe-west1-docker.pkg.dev: europe-west1), and whether host is of
// that form.
func ArtifactRegistryLocation(host string) (string, bool) {
	loc, ok := strings.CutSuffix(strings.ToLower(host), "-docker.pkg.dev")
	if !ok || loc == "" || strings.Contains(loc, ".") {
		return "", false
	}
	return loc, true
}

// IsKnownLocation reports whether location is in the list above.
func IsKnownLocation(location string) bool {
	for _, l := range append(append([]string{}, MultiRegions...), Regions...) {
		if l == location {
			return true
		}
	}
	return false
}
