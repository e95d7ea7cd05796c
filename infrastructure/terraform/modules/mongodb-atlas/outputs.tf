output "project_id" {
  description = "ID of the Atlas project."
  value       = mongodbatlas_project.this.id
}

output "cluster_name" {
  description = "Name of the Atlas cluster."
  value       = mongodbatlas_advanced_cluster.this.name
}

output "connection_host" {
  description = "Host of the cluster's SRV connection string (no scheme, no credentials): the private endpoint's when it is enabled and connected, else the public one."
  value       = trimprefix(local.app_srv, "mongodb+srv://")
}

output "connection_string" {
  description = "SRV connection string without credentials (mongodb+srv://HOST)."
  value       = local.app_srv
}

output "public_connection_string" {
  description = "Public SRV connection string without credentials."
  value       = local.public_srv
}

output "database_name" {
  description = "Database of the application user."
  value       = var.database_name
}

output "database_username" {
  description = "User name of the application's database user."
  value       = mongodbatlas_database_user.app.username
}
