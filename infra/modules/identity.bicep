// One user-assigned managed identity per app. Each holds only the roles granted in rbac.bicep.
param location string
param tags object
param scorerIdentityName string
param generatorIdentityName string

resource scorer 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: scorerIdentityName
  location: location
  tags: tags
}

resource generator 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: generatorIdentityName
  location: location
  tags: tags
}

output scorerId string = scorer.id
output scorerClientId string = scorer.properties.clientId
output scorerPrincipalId string = scorer.properties.principalId
output generatorId string = generator.id
output generatorClientId string = generator.properties.clientId
output generatorPrincipalId string = generator.properties.principalId
