output "repository_urls" {
  description = "Repository URL (<registry>/<name>) by name: what `images push --registry` and the overlays' newName use."
  value       = local.repository_urls
}

output "repository_arns" {
  description = "Repository ARN by name, for IAM policies."
  value       = local.repository_arns
}

output "registry_id" {
  description = "Registry ID (the AWS account ID)."
  value       = local.registry_id
}

output "registry_host" {
  description = "Registry host, <account>.dkr.ecr.<region>.amazonaws.com: the --registry of `images push`."
  value       = local.registry_host
}
