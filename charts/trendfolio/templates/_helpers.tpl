{{/* Names ------------------------------------------------------------------------------ */}}
{{- define "trendfolio.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "trendfolio.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "<fullname>-<suffix>", at most 52 characters so CronJob names leave room for job suffixes. */}}
{{- define "trendfolio.component" -}}
{{- printf "%s-%s" (include "trendfolio.fullname" .root) .name | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels ----------------------------------------------------------------------------- */}}
{{- define "trendfolio.selectorLabels" -}}
app.kubernetes.io/name: {{ include "trendfolio.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{- define "trendfolio.labels" -}}
{{ include "trendfolio.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: trendfolio
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Images ----------------------------------------------------------------------------- */}}
{{- define "trendfolio.image" -}}
{{- $img := index .root.Values.images .name -}}
{{- $repo := $img.repository -}}
{{- with .root.Values.image.registry }}{{ $repo = printf "%s/%s" (trimSuffix "/" .) $repo }}{{ end -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $repo $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default (default .root.Chart.AppVersion .root.Values.image.tag) $img.tag) -}}
{{- end -}}
{{- end -}}

{{- define "trendfolio.thirdPartyImage" -}}
{{- if .digest -}}{{ printf "%s@%s" .repository .digest }}{{- else -}}{{ printf "%s:%s" .repository .tag }}{{- end -}}
{{- end -}}

{{- define "trendfolio.pullSecrets" -}}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Security: the restricted Pod Security Standard, every pod and every container. ------ */}}
{{- define "trendfolio.podSecurityContext" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: {{ .runAsUser }}
  runAsGroup: {{ .runAsGroup }}
  fsGroup: {{ .fsGroup }}
  fsGroupChangePolicy: OnRootMismatch
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{- define "trendfolio.containerSecurityContext" -}}
securityContext:
  runAsNonRoot: true
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  privileged: false
  capabilities:
    drop: ["ALL"]
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/* Secrets ---------------------------------------------------------------------------- */}}
{{- define "trendfolio.databaseSecretName" -}}
{{- if and (not .Values.postgresql.enabled) .Values.database.existingSecret -}}
{{- .Values.database.existingSecret -}}
{{- else -}}
{{- include "trendfolio.component" (dict "root" . "name" "secrets") -}}
{{- end -}}
{{- end -}}

{{- define "trendfolio.apiKeySecretName" -}}
{{- default (include "trendfolio.component" (dict "root" . "name" "api-key")) .Values.api.apiKey.existingSecret -}}
{{- end -}}

{{/* A secret value: the given one, else the one already in the cluster, else a new random one. */}}
{{- define "trendfolio.secretValue" -}}
{{- if .given -}}
{{- .given -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .secret -}}
{{- if and $existing (hasKey $existing.data .key) -}}
{{- index $existing.data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum 32 -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "trendfolio.kafkaBootstrap" -}}
{{- if .Values.kafka.enabled -}}
{{- printf "%s.%s.svc:9092" (include "trendfolio.component" (dict "root" . "name" "kafka")) .Release.Namespace -}}
{{- else -}}
{{- .Values.kafkaBootstrap -}}
{{- end -}}
{{- end -}}

{{/* Environment ------------------------------------------------------------------------ */}}
{{/* The shared settings plus the writer's database URL (collectors, consumer, Spark). */}}
{{- define "trendfolio.writerEnv" -}}
envFrom:
  - configMapRef:
      name: {{ include "trendfolio.component" (dict "root" . "name" "config") }}
env:
  - name: TRENDFOLIO_DATABASE_URL
    valueFrom:
      secretKeyRef:
        name: {{ include "trendfolio.databaseSecretName" . }}
        key: TRENDFOLIO_DATABASE_URL
{{- end -}}

{{/* The read-only login (API, dashboard). */}}
{{- define "trendfolio.readerEnv" -}}
envFrom:
  - configMapRef:
      name: {{ include "trendfolio.component" (dict "root" . "name" "config") }}
env:
  - name: TRENDFOLIO_READONLY_DATABASE_URL
    valueFrom:
      secretKeyRef:
        name: {{ include "trendfolio.databaseSecretName" . }}
        key: TRENDFOLIO_READONLY_DATABASE_URL
{{- if .Values.api.apiKey.enabled }}
  - name: TRENDFOLIO_API_KEY
    valueFrom:
      secretKeyRef:
        name: {{ include "trendfolio.apiKeySecretName" . }}
        key: api-key
{{- end }}
{{- end -}}

{{/* Volumes every container needs with a read-only root: /tmp and the Trendfolio home. */}}
{{- define "trendfolio.scratchVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 512Mi
- name: home
  emptyDir:
    sizeLimit: 1Gi
{{- end -}}

{{- define "trendfolio.scratchMounts" -}}
- name: tmp
  mountPath: /tmp
- name: home
  mountPath: /var/lib/trendfolio
{{- end -}}

{{- define "trendfolio.validate" -}}
{{- if and (not .Values.postgresql.enabled) (not .Values.database.existingSecret) (not .Values.database.url) -}}
{{- fail "database: set database.url (or database.existingSecret), or postgresql.enabled=true for a development database" -}}
{{- end -}}
{{- if and .Values.consumer.enabled (not .Values.kafka.enabled) (not .Values.kafkaBootstrap) -}}
{{- fail "consumer.enabled needs Kafka: set kafkaBootstrap, or kafka.enabled=true, or consumer.enabled=false (in-process bus)" -}}
{{- end -}}
{{- end -}}

{{/* The stages (trendfolio.stages.PIPELINE; a test keeps the two lists equal): name → kind. */}}
{{- define "trendfolio.stages" -}}
benchmark: collect
sector: collect
trending: spark
holdings: collect
allocation: spark
monthly: spark
top-holdings: spark
monthly-returns: spark
{{- end -}}
