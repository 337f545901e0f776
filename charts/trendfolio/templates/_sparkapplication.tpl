{{/*
A SparkApplication (sparkoperator.k8s.io/v1beta2) running one Spark stage for one as-of date.
dict: root, stage, date (a YYYY-MM-DD or an Airflow template such as "{{ ds }}"), suffix
*/}}
{{- define "trendfolio.sparkApplication" -}}
{{- $root := .root -}}
{{- $sa := $root.Values.sparkApplications -}}
{{- $labels := dict "app.kubernetes.io/name" (include "trendfolio.name" $root) "app.kubernetes.io/instance" $root.Release.Name "app.kubernetes.io/component" "spark" "app.kubernetes.io/part-of" "trendfolio" "trendfolio.io/stage" .stage -}}
{{- $sc := include "trendfolio.containerSecurityContext" $root | fromYaml -}}
{{- $psc := include "trendfolio.podSecurityContext" $root.Values.podSecurityContext | fromYaml -}}
{{- $env := list
      (dict "name" "TRENDFOLIO_DATABASE_URL" "valueFrom" (dict "secretKeyRef" (dict "name" (include "trendfolio.databaseSecretName" $root) "key" "TRENDFOLIO_DATABASE_URL")))
      (dict "name" "TRENDFOLIO_SPARK_MASTER" "value" "k8s://https://kubernetes.default.svc:443") -}}
{{- $envFrom := list (dict "configMapRef" (dict "name" (include "trendfolio.component" (dict "root" $root "name" "config")))) -}}
{{- $mounts := list (dict "name" "tmp" "mountPath" "/tmp") -}}
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata:
  name: {{ printf "%s-%s" (include "trendfolio.component" (dict "root" $root "name" .stage)) .suffix }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- toYaml $labels | nindent 4 }}
spec:
  type: Python
  pythonVersion: "3"
  mode: cluster
  image: {{ include "trendfolio.image" (dict "root" $root "name" "spark") }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  {{- with $root.Values.image.pullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  mainApplicationFile: local:///opt/trendfolio/stage.py
  arguments: ["stage", {{ .stage | quote }}, "--date", {{ .date | quote }}]
  sparkVersion: {{ $sa.sparkVersion | quote }}
  timeToLiveSeconds: {{ $sa.timeToLiveSeconds }}
  restartPolicy:
    type: Never
  sparkConf:
    spark.ui.enabled: "false"
    spark.kubernetes.driver.service.deleteOnTermination: "true"
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 2Gi
  driver:
    cores: {{ $sa.driver.cores }}
    coreLimit: {{ $sa.driver.coreLimit | quote }}
    memory: {{ $sa.driver.memory | quote }}
    serviceAccount: {{ include "trendfolio.component" (dict "root" $root "name" "spark") }}
    labels:
      {{- toYaml $labels | nindent 6 }}
    env:
      {{- toYaml $env | nindent 6 }}
    envFrom:
      {{- toYaml $envFrom | nindent 6 }}
    volumeMounts:
      {{- toYaml $mounts | nindent 6 }}
    {{- toYaml (dict "podSecurityContext" $psc.securityContext) | nindent 4 }}
    {{- toYaml $sc | nindent 4 }}
  executor:
    instances: {{ $sa.executor.instances }}
    cores: {{ $sa.executor.cores }}
    coreLimit: {{ $sa.executor.coreLimit | quote }}
    memory: {{ $sa.executor.memory | quote }}
    labels:
      {{- toYaml $labels | nindent 6 }}
    env:
      {{- toYaml $env | nindent 6 }}
    envFrom:
      {{- toYaml $envFrom | nindent 6 }}
    volumeMounts:
      {{- toYaml $mounts | nindent 6 }}
    {{- toYaml (dict "podSecurityContext" $psc.securityContext) | nindent 4 }}
    {{- toYaml $sc | nindent 4 }}
{{- end -}}
