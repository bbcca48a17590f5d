{{/*
The image reference: repository, then :tag and @digest when given (the
digest decides; kustomize's images: entry writes the same).
*/}}
{{- define "gcrcred.image" -}}
{{- .Values.image.repository -}}
{{- with .Values.image.tag }}:{{ . }}{{ end -}}
{{- with .Values.image.digest }}@{{ . }}{{ end -}}
{{- end -}}

{{/* The Secret the installer reads: the chart's, or the user's own. */}}
{{- define "gcrcred.secretName" -}}
{{- default "gcrcred-credentials" .Values.credentials.existingSecret -}}
{{- end -}}

{{/*
Whether the installer gets --credentials: always without per-pod identity
(the placeholder, refused, changes no node); with it, only when a key is
given (pods that ask for nothing then get the node's key).
*/}}
{{- define "gcrcred.nodeKey" -}}
{{- if or (not .Values.podIdentity.enabled) .Values.credentials.json .Values.credentials.existingSecret }}true{{ end -}}
{{- end -}}

{{/* `gcrcred node install`'s arguments. */}}
{{- define "gcrcred.installArgs" -}}
{{- $args := list "node" "install" "--root" "/host" -}}
{{- if include "gcrcred.nodeKey" . -}}
{{- $args = concat $args (list "--credentials" "/etc/gcrcred-secret/credentials.json") -}}
{{- end -}}
{{- with .Values.podIdentity -}}
{{- if .enabled -}}
{{- $args = concat $args (list "--workload-identity" "/etc/gcrcred-secret/workload-identity.json" "--service-account-audience" .audience "--pod-identity" .mode) -}}
{{- if .requireServiceAccount -}}
{{- $args = append $args "--require-service-account" -}}
{{- end -}}
{{- with .subjectMapping -}}
{{- $args = concat $args (list "--subject-mapping" .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- with .Values.registries -}}
{{- $args = concat $args (list "--registries" (join "," .)) -}}
{{- end -}}
{{- toJson $args -}}
{{- end -}}

{{/*
Refuses values that would install something other than what was meant,
before anything reaches the cluster.
*/}}
{{- define "gcrcred.check" -}}
{{- if and .Values.namespace.create (eq .Release.Namespace .Values.namespace.name) -}}
{{- fail (printf "the chart creates namespace %s (labelled for Pod Security), but Helm keeps the release record there and needs it first: install the release in another namespace (helm install -n default ...), or make %s yourself with the labels in templates/namespace.yaml and set namespace.create=false" .Values.namespace.name .Values.namespace.name) -}}
{{- end -}}
{{- if and .Values.credentials.json .Values.credentials.existingSecret -}}
{{- fail "credentials.json and credentials.existingSecret are both set: give the key one way" -}}
{{- end -}}
{{- if .Values.podIdentity.enabled -}}
{{- if not .Values.podIdentity.audience -}}
{{- fail "podIdentity.enabled needs podIdentity.audience: the service-account token audience, usually //iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER (gcrcred workload-identity setup-help)" -}}
{{- end -}}
{{- if not (or .Values.podIdentity.workloadIdentity .Values.credentials.existingSecret) -}}
{{- fail "podIdentity.enabled needs the credential configuration: --set-file podIdentity.workloadIdentity=FILE (what gcloud iam workload-identity-pools create-cred-config wrote), or workload-identity.json in credentials.existingSecret" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* env: the values' environment, for every container. */}}
{{- define "gcrcred.env" -}}
{{- with .Values.env -}}
env:
{{- toYaml . | nindent 0 }}
{{- end -}}
{{- end -}}

{{/*
The installer's privileges (install and uninstall alike), as deploy/ gives
them: root with the capabilities `make e2e` showed it uses, instead of
privileged (docs/daemonset.md says why each).
*/}}
{{- define "gcrcred.installerSecurityContext" -}}
securityContext:
  privileged: false
  allowPrivilegeEscalation: false
  runAsUser: 0
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
    add: ["SYS_CHROOT", "SYS_PTRACE"]
  seccompProfile:
    type: RuntimeDefault
  appArmorProfile:
    type: Unconfined
  seLinuxOptions:
    type: spc_t
{{- end -}}

{{/* The main containers': uid 65532, no capabilities, read-only. */}}
{{- define "gcrcred.unprivilegedSecurityContext" -}}
securityContext:
  privileged: false
  allowPrivilegeEscalation: false
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
  seccompProfile:
    type: RuntimeDefault
{{- end -}}
