package credfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/test/wintest"
)

func TestGcloudDirIsUnderAppData(t *testing.T) {
	t.Setenv("CLOUDSDK_CONFIG", "")
	t.Setenv("APPDATA", `C:\Users\u\AppData\Roaming`)
	if got, want := GcloudConfigDir(), `C:\Users\u\AppData\Roaming\gcloud`; got != want {
		t.Fatalf("GcloudConfigDir = %q, want %q", got, want)
	}
}

// TestLocateOnWindows: gcloud's ADC under %APPDATA% is found; the Unix
// system-wide path is never read (any user may create C:\etc there).
func TestLocateOnWindows(t *testing.T) {
	appdata := wintest.TempDir(t)
	t.Setenv("APPDATA", appdata)
	t.Setenv("CLOUDSDK_CONFIG", "")
	t.Setenv("GCRCRED_CREDENTIALS", "")
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	system := filepath.Join(filepath.VolumeName(appdata)+`\`, "etc", "gcrcred")
	if err := os.MkdirAll(system, 0o755); err == nil {
		defer os.RemoveAll(filepath.Join(filepath.VolumeName(appdata)+`\`, "etc"))
		os.WriteFile(filepath.Join(system, "credentials.json"), []byte(`{"type":"service_account","client_email":"planted@x.iam.gserviceaccount.com","private_key":"k"}`), 0o644)
	}
	f, tried, err := Locate("", Workstation)
	if err != nil || f != nil {
		t.Fatalf("with no ADC: %v, %v", f, err)
	}
	if !strings.Contains(strings.Join(tried, "; "), "absent") {
		t.Fatalf("tried = %v", tried)
	}
	adc := filepath.Join(appdata, "gcloud", "application_default_credentials.json")
	os.MkdirAll(filepath.Dir(adc), 0o700)
	if err := os.WriteFile(adc, []byte(`{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r","account":"me@example.com"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	f, _, err = Locate("", Workstation)
	if err != nil || f == nil || f.Path != adc || f.Account != "me@example.com" {
		t.Fatalf("Locate = %+v, %v; want gcloud's ADC at %s", f, err, adc)
	}
}
