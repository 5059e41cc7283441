// Container registry for the two function images. No admin user and no anonymous pull: the apps pull with
// their managed identities (AcrPull, see rbac.bicep); deploy.sh pushes with the deployer's Entra login.
param location string
param tags object
param registryName string

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' = {
  name: registryName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
  }
}

output registryName string = registry.name
output loginServer string = registry.properties.loginServer
