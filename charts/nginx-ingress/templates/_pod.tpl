{{/*
The pod template shared by the Deployment, the DaemonSet and the StatefulSet.

The root file system is read-only; NGINX and the controller write only these emptyDirs:
/etc/nginx (-conf-dir: the controller writes every file there), /var/lib/nginx (-run-dir:
pid file, temporary files, the config-version socket), /var/cache/nginx and /var/log/nginx
(paths compiled into NGINX), /tmp.
*/}}
{{- define "nginx-ingress.writableDirs" -}}
{{- toJson (dict "nginx-etc" "/etc/nginx" "nginx-lib" "/var/lib/nginx" "nginx-cache" "/var/cache/nginx" "nginx-log" "/var/log/nginx" "tmp" "/tmp") }}
{{- end }}

{{- define "nginx-ingress.podTemplate" -}}
{{- $c := .Values.controller -}}
{{- $dirs := include "nginx-ingress.writableDirs" . | fromJson -}}
metadata:
  labels:
    {{- include "nginx-ingress.podLabels" . | nindent 4 }}
  {{- with $c.pod.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "nginx-ingress.serviceAccountName" . }}
  automountServiceAccountToken: true
  terminationGracePeriodSeconds: {{ $c.terminationGracePeriodSeconds }}
  {{- with $c.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if $c.affinity }}
  affinity:
    {{- toYaml $c.affinity | nindent 4 }}
  {{- else if and (ne $c.kind "daemonset") (ne $c.podAntiAffinity "none") }}
  affinity:
    podAntiAffinity:
      {{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (include "nginx-ingress.selectorLabels" . | fromYaml)) }}
      {{- if eq $c.podAntiAffinity "hard" }}
      requiredDuringSchedulingIgnoredDuringExecution:
        {{- toYaml (list $term) | nindent 8 }}
      {{- else }}
      preferredDuringSchedulingIgnoredDuringExecution:
        {{- toYaml (list (dict "weight" 100 "podAffinityTerm" $term)) | nindent 8 }}
      {{- end }}
  {{- end }}
  {{- with $c.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $c.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $c.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $c.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- if or $c.serviceAccount.imagePullSecretName $c.serviceAccount.imagePullSecretsNames }}
  imagePullSecrets:
    {{- with $c.serviceAccount.imagePullSecretName }}
    - name: {{ . }}
    {{- end }}
    {{- range $c.serviceAccount.imagePullSecretsNames }}
    - name: {{ . }}
    {{- end }}
  {{- end }}
  {{- with $c.initContainers }}
  initContainers:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: nginx-ingress
      image: {{ include "nginx-ingress.image" . }}
      imagePullPolicy: {{ $c.image.pullPolicy }}
      args:
        {{- include "nginx-ingress.args" . | nindent 8 }}
      env:
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- with $c.env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: http
          containerPort: {{ $c.defaultHTTPListenerPort }}
          protocol: TCP
        - name: https
          containerPort: {{ $c.defaultHTTPSListenerPort }}
          protocol: TCP
        {{- if $c.readyStatus.enable }}
        - name: readiness-port
          containerPort: {{ $c.readyStatus.port }}
          protocol: TCP
        {{- end }}
        {{- if .Values.prometheus.create }}
        - name: prometheus
          containerPort: {{ .Values.prometheus.port }}
          protocol: TCP
        {{- end }}
        {{- if $c.nginxplus }}
        - name: zone-sync
          containerPort: {{ $c.zoneSync.port }}
          protocol: TCP
        {{- end }}
      {{- if $c.readyStatus.enable }}
      readinessProbe:
        httpGet:
          path: /nginx-ready
          port: readiness-port
        periodSeconds: 1
        initialDelaySeconds: {{ $c.readyStatus.initialDelaySeconds }}
      {{- end }}
      {{- with $c.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml (merge (deepCopy $c.securityContext) (dict "readOnlyRootFilesystem" $c.readOnlyRootFilesystem)) | nindent 8 }}
      {{- with $c.lifecycle }}
      lifecycle:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        {{- range $name := keys $dirs | sortAlpha }}
        - name: {{ $name }}
          mountPath: {{ get $dirs $name }}
        {{- end }}
        {{- with $c.volumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    {{- with $c.extraContainers }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  volumes:
    {{- range $name := keys $dirs | sortAlpha }}
    - name: {{ $name }}
      emptyDir: {}
    {{- end }}
    {{- with $c.volumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}
