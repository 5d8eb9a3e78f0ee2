local helpers = import 'lib/helpers.libsonnet';
function(name='default', replicas=1)
  [helpers.cm(name), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: name + '-' + std.extVar('suffix') }, spec: { replicas: replicas } }]
