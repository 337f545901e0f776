{{/*
One long-running Trendfolio service: a Deployment (and a Service when it has a port).
dict: root, name (consumer|api|dashboard), values, args, port, portName, probePath, reader (bool)
*/}}
{{- define "trendfolio.deployment" -}}
{{- $root := .root -}}
{{- $v := .values -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "trendfolio.component" (dict "root" $root "name" .name) }}
  labels:
    {{- include "trendfolio.labels" (dict "root" $root "component" .name) | nindent 4 }}
spec:
  replicas: {{ $v.replicas }}
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      {{- include "trendfolio.selectorLabels" (dict "root" $root "component" .name) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "trendfolio.labels" (dict "root" $root "component" .name) | nindent 8 }}
      annotations:
        checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
    spec:
      serviceAccountName: {{ include "trendfolio.component" (dict "root" $root "name" "app") }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      {{- include "trendfolio.pullSecrets" $root | nindent 6 }}
      {{- include "trendfolio.podSecurityContext" $root.Values.podSecurityContext | nindent 6 }}
      terminationGracePeriodSeconds: 30
      containers:
        - name: {{ .name }}
          image: {{ include "trendfolio.image" (dict "root" $root "name" .name) }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args:
            {{- toYaml .args | nindent 12 }}
          {{- if .reader }}
          {{- include "trendfolio.readerEnv" $root | nindent 10 }}
          {{- else }}
          {{- include "trendfolio.writerEnv" $root | nindent 10 }}
          {{- end }}
            - name: TRENDFOLIO_HOME
              value: /var/lib/trendfolio
            {{- if eq .name "consumer" }}
            - name: TRENDFOLIO_KAFKA_INSTANCE_ID
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            {{- end }}
          ports:
            - name: {{ .portName }}
              containerPort: {{ .port }}
              protocol: TCP
          readinessProbe:
            httpGet:
              path: {{ .probePath }}
              port: {{ .portName }}
            initialDelaySeconds: 5
            periodSeconds: 10
            timeoutSeconds: 5
          livenessProbe:
            httpGet:
              path: {{ .probePath }}
              port: {{ .portName }}
            initialDelaySeconds: 30
            periodSeconds: 20
            timeoutSeconds: 5
            failureThreshold: 5
          {{- include "trendfolio.containerSecurityContext" $root | nindent 10 }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          volumeMounts:
            {{- include "trendfolio.scratchMounts" $root | nindent 12 }}
      volumes:
        {{- include "trendfolio.scratchVolumes" $root | nindent 8 }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "trendfolio.component" (dict "root" $root "name" .name) }}
  labels:
    {{- include "trendfolio.labels" (dict "root" $root "component" .name) | nindent 4 }}
spec:
  type: {{ if $v.service }}{{ $v.service.type }}{{ else }}ClusterIP{{ end }}
  selector:
    {{- include "trendfolio.selectorLabels" (dict "root" $root "component" .name) | nindent 4 }}
  ports:
    - name: {{ .portName }}
      port: {{ if $v.service }}{{ $v.service.port }}{{ else }}{{ .port }}{{ end }}
      targetPort: {{ .portName }}
      protocol: TCP
{{- end -}}
