// Log Analytics + workspace-based Application Insights. Local (instrumentation-key) auth is disabled:
// the apps send telemetry with their managed identity (Monitoring Metrics Publisher, see rbac.bicep).
param location string
param tags object
param workspaceName string
param appInsightsName string
@minValue(30)
param retentionInDays int = 30

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-02-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

output workspaceId string = workspace.id
output workspaceName string = workspace.name
output appInsightsName string = appInsights.name
// Not a secret: with DisableLocalAuth the ingestion endpoint accepts only Entra-authenticated telemetry.
output appInsightsConnectionString string = appInsights.properties.ConnectionString
