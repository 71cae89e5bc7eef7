{{/* Names, labels and the pod parts every Deployment and Job shares. */}}

{{- define "boxoffice.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Selector labels of one component: (list $ "api"). */}}
{{- define "boxoffice.selectorLabels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: {{ $.Chart.Name }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "boxoffice.labels" -}}
{{- $ := index . 0 -}}
{{ include "boxoffice.selectorLabels" . }}
app.kubernetes.io/part-of: boxoffice
app.kubernetes.io/version: {{ $.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $.Chart.Name $.Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "boxoffice.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* The API's image: api.image.tag when set (an API held back on the build before, while the
workers move first), else the one shared image. */}}
{{- define "boxoffice.apiImage" -}}
{{- $tag := (.Values.api.image | default dict).tag | default .Values.image.tag | default .Chart.AppVersion -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}

{{- define "boxoffice.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "boxoffice.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* The bundled Temporal's frontend, named as the official chart names it. */}}
{{- define "boxoffice.bundledTemporalAddress" -}}
{{- $fullname := "" -}}
{{- if .Values.temporal.fullnameOverride -}}
{{- $fullname = .Values.temporal.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := .Values.temporal.nameOverride | default "temporal" -}}
{{- if contains $name .Release.Name -}}
{{- $fullname = .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $fullname = printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- printf "%s-frontend:7233" $fullname -}}
{{- end -}}

{{/* A setting as the string the environment holds: whole numbers without an exponent (values
arrive as float64, which Go would print as 1e+06). */}}
{{- define "boxoffice.envValue" -}}
{{- if and (kindIs "float64" .) (eq . (floor .)) -}}
{{- int64 . | toString -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/* Every setting and secret, the same for the API, the workers and the jobs. */}}
{{- define "boxoffice.env" -}}
{{- include "boxoffice.envWith" (list . dict) -}}
{{- end -}}

{{/* The same, with some settings replaced: (list $ (dict "WORKER_BUILD_ID" "...")) for the
workers of a build still draining, in the same order as before (a build that moves from
current to draining keeps its pod template, so its pods are not restarted). */}}
{{- define "boxoffice.envWith" -}}
{{- $ := index . 0 -}}
{{- $override := index . 1 -}}
{{- with $ }}
{{- $settings := merge (dict) $override (include "boxoffice.tlsEnv" . | fromYaml) (.Values.settings | default dict) -}}
{{- range $name := keys $settings | sortAlpha }}
{{- if not (and $.Values.temporal.enabled (eq $name "TEMPORAL_ADDRESS")) }}
- name: {{ $name }}
  value: {{ include "boxoffice.envValue" (index $settings $name) | quote }}
{{- end }}
{{- end }}
{{- if .Values.temporal.enabled }}
- name: TEMPORAL_ADDRESS
  value: {{ include "boxoffice.bundledTemporalAddress" . | quote }}
{{- end }}
{{- $hs256 := eq (toString ($settings.AUTH_MODE | default "hs256")) "hs256" }}
{{- range $key := .Values.secret.requiredKeys }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef: {name: {{ $.Values.secret.name | quote }}, key: {{ $key }}}
{{- end }}
{{- range $key := .Values.secret.optionalKeys }}
{{- if not (has $key $.Values.secret.requiredKeys) }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.secret.name | quote }}
      key: {{ $key }}
      optional: {{ not (and $hs256 (eq $key "AUTH_SECRET")) }}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The hook Jobs leave out serviceAccountName: their pre-install run comes before the
chart's ServiceAccount exists (they need no cloud role: only PostgreSQL and Temporal). */}}
{{- define "boxoffice.podSecurity" -}}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The settings that point at the mounted Temporal client certificate (temporalTls), as a
YAML map; they replace the same settings given under settings. */}}
{{- define "boxoffice.tlsEnv" -}}
{{- with .Values.temporalTls }}
{{- if .secretName }}
TEMPORAL_TLS_CERT_FILE: {{ printf "%s/%s" .mountPath .certKey | quote }}
TEMPORAL_TLS_KEY_FILE: {{ printf "%s/%s" .mountPath .keyKey | quote }}
{{- if .caKey }}
TEMPORAL_TLS_CA_FILE: {{ printf "%s/%s" .mountPath .caKey | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* DATA_DIR and /tmp: the writable places under a read-only root filesystem; the Temporal
client certificate when temporalTls.secretName is set. */}}
{{- define "boxoffice.volumes" -}}
volumes:
  - name: data
    emptyDir: {}
  - name: tmp
    emptyDir: {}
  {{- with .Values.temporalTls }}
  {{- if .secretName }}
  - name: temporal-tls
    secret:
      secretName: {{ .secretName | quote }}
      defaultMode: 0440
  {{- end }}
  {{- end }}
{{- end -}}

{{- define "boxoffice.volumeMounts" -}}
volumeMounts:
  - name: data
    mountPath: {{ .Values.settings.DATA_DIR | default "/data" }}
  - name: tmp
    mountPath: /tmp
  {{- with .Values.temporalTls }}
  {{- if .secretName }}
  - name: temporal-tls
    mountPath: {{ .mountPath | quote }}
    readOnly: true
  {{- end }}
  {{- end }}
{{- end -}}

{{/* Refusals that need two values at once, which values.schema.json cannot compare. */}}
{{- define "boxoffice.checks" -}}
{{- $settings := .Values.settings | default dict -}}
{{- $step := $settings.STEP_TIMEOUT_SECONDS | default 60 | int -}}
{{- $payment := $settings.PAYMENT_TIMEOUT_SECONDS | default 30 | int -}}
{{- $longest := max $step $payment -}}
{{- if le (int .Values.terminationGracePeriodSeconds) $longest -}}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be longer than the longest activity timeout (%d s: STEP_TIMEOUT_SECONDS %d, PAYMENT_TIMEOUT_SECONDS %d), or stopping workers cut activities off" (int .Values.terminationGracePeriodSeconds) $longest $step $payment) -}}
{{- end -}}
{{- if $settings.TRUSTED_PROXIES -}}
{{- fail "settings.TRUSTED_PROXIES: set api.trustedProxies (a list) instead; only the API reads it" -}}
{{- end -}}
{{- if (.Values.tracing | default dict).otlpEndpoint -}}
{{- range $entry := .Values.extraEnv -}}
{{- if has $entry.name (list "OTEL_EXPORTER_OTLP_ENDPOINT" "OTEL_SERVICE_NAME" "OTEL_RESOURCE_ATTRIBUTES" "OTEL_TRACES_SAMPLER" "OTEL_TRACES_SAMPLER_ARG" "OTEL_EXPORTER_OTLP_HEADERS") -}}
{{- fail (printf "extraEnv sets %s, which tracing.* sets when tracing.otlpEndpoint is given: set it in one place" $entry.name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and .Values.api.autoscaling.enabled (gt (int .Values.api.autoscaling.minReplicas) (int .Values.api.autoscaling.maxReplicas)) -}}
{{- fail (printf "api.autoscaling.minReplicas (%d) is more than maxReplicas (%d)" (int .Values.api.autoscaling.minReplicas) (int .Values.api.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- end -}}

{{/* The worker builds to run, as a JSON list: the current one (settings.WORKER_BUILD_ID, the
release's image) first, then each of workers.drainingBuilds (its own image tag, small pools),
kept until their pinned runs are done. Each has buildId, slug (the id as a DNS label: in the
Deployments' names, labels and selectors), image and replicas per queue. An unversioned release
has one build with an empty id and slug: the Deployments keep their plain names. */}}
{{- define "boxoffice.workerBuilds" -}}
{{- $current := toString (.Values.settings.WORKER_BUILD_ID | default "") | trim -}}
{{- $draining := .Values.workers.drainingBuilds | default list -}}
{{- if and $draining (not $current) -}}
{{- fail "workers.drainingBuilds needs a versioned release: set settings.WORKER_DEPLOYMENT_NAME and WORKER_BUILD_ID (the new build), and list the older builds under drainingBuilds" -}}
{{- end -}}
{{- $pools := dict -}}
{{- range $queue := list "purchases" "payments" "fulfilment" -}}
{{- $_ := set $pools $queue (index $.Values.workers $queue).replicas -}}
{{- end -}}
{{- $builds := list (dict "buildId" $current "slug" (include "boxoffice.buildSlug" $current) "image" (include "boxoffice.image" .) "replicas" $pools "current" true) -}}
{{- $seen := dict $current "the current build (settings.WORKER_BUILD_ID)" -}}
{{- range $i, $build := $draining -}}
{{- $id := toString $build.buildId | trim -}}
{{- if eq $id $current -}}
{{- fail (printf "workers.drainingBuilds[%d].buildId %q is the current build (settings.WORKER_BUILD_ID): list only older builds still draining" $i $id) -}}
{{- end -}}
{{- if hasKey $seen $id -}}
{{- fail (printf "workers.drainingBuilds[%d].buildId %q is listed twice" $i $id) -}}
{{- end -}}
{{- $_ := set $seen $id (printf "workers.drainingBuilds[%d]" $i) -}}
{{- $replicas := dict -}}
{{- range $queue := list "purchases" "payments" "fulfilment" -}}
{{- $_ := set $replicas $queue (index ($build.replicas | default dict) $queue | default 1) -}}
{{- end -}}
{{- $image := printf "%s:%s" $.Values.image.repository $build.imageTag -}}
{{- $builds = append $builds (dict "buildId" $id "slug" (include "boxoffice.buildSlug" $id) "image" $image "replicas" $replicas "current" false) -}}
{{- end -}}
{{- $slugs := dict -}}
{{- range $build := $builds -}}
{{- if and $build.buildId (not $build.slug) -}}
{{- fail (printf "build id %q has no letter or digit to name its worker Deployments by" $build.buildId) -}}
{{- end -}}
{{- if hasKey $slugs $build.slug -}}
{{- fail (printf "builds %q and %q would name their worker Deployments alike (%q): their first 40 characters differ only in case or punctuation" (index $slugs $build.slug) $build.buildId $build.slug) -}}
{{- end -}}
{{- $_ := set $slugs $build.slug $build.buildId -}}
{{- end -}}
{{- toJson $builds -}}
{{- end -}}

{{/* A build id as part of a DNS name and a label value: lower case, runs of anything but
letters and digits as one "-", at most 40 characters. */}}
{{- define "boxoffice.buildSlug" -}}
{{- regexReplaceAll "[^a-z0-9]+" (lower .) "-" | trunc 40 | trimAll "-" -}}
{{- end -}}

{{/* OpenTelemetry's standard variables for one component's pods (tracing.*): (list $ "api"
image). Nothing when tracing.otlpEndpoint is unset, so tracing stays off. The service name is
<serviceNamePrefix>-api or -worker, as docker-compose names them; service.version is the tag of
the image the pod runs, so traces of two builds side by side tell which one served. */}}
{{- define "boxoffice.tracingEnv" -}}
{{- $ := index . 0 -}}
{{- $tracing := $.Values.tracing | default dict -}}
{{- if $tracing.otlpEndpoint }}
{{- $attributes := dict "service.version" (splitList ":" (index . 2) | last) "service.namespace" $.Release.Namespace -}}
{{- $attributes = merge (dict) ($tracing.resourceAttributes | default dict) $attributes -}}
{{- $pairs := list -}}
{{- range $name := keys $attributes | sortAlpha -}}
{{- $pairs = append $pairs (printf "%s=%s" $name (toString (index $attributes $name))) -}}
{{- end }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $tracing.otlpEndpoint | quote }}
- name: OTEL_SERVICE_NAME
  value: {{ printf "%s-%s" ($tracing.serviceNamePrefix | default "boxoffice") (index . 1) | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $pairs | quote }}
- name: OTEL_TRACES_SAMPLER
  value: parentbased_traceidratio
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ include "boxoffice.envValue" (ternary $tracing.sampleRatio 1.0 (hasKey $tracing "sampleRatio")) | quote }}
{{- with $tracing.headersSecret }}
{{- if .name }}
- name: OTEL_EXPORTER_OTLP_HEADERS
  valueFrom:
    secretKeyRef: {name: {{ .name | quote }}, key: {{ .key | quote }}}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}
