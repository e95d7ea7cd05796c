# ECR repositories for the SrvThreds service images, one per name in
# var.repositories: immutable tags (a tag is a release: `images push` tags by
# content hash), scan on push, encryption at rest, and a lifecycle policy
# that expires untagged images (and, optionally, all but the newest tagged
# ones).
#
# Repository names are unique per account and region, and the images are the
# same for every environment (only the manifests differ): when environments
# share an account, one of them creates the repositories
# (create_repositories = true) and the others only refer to them; the URL and
# ARN outputs are the same either way.

terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  names = toset(var.repositories)

  registry_id   = data.aws_caller_identity.current.account_id
  registry_host = "${local.registry_id}.dkr.ecr.${data.aws_region.current.name}.${data.aws_partition.current.dns_suffix}"

  # Untagged images (layers of a tag that moved, failed pushes) expire after
  # untagged_image_expiry_days; with keep_tagged_images, only the newest that
  # many tagged images stay. ECR applies the lowest rulePriority first.
  lifecycle_rules = concat(
    [{
      rulePriority = 1
      description  = "Expire untagged images ${var.untagged_image_expiry_days} days after their push"
      selection = {
        tagStatus   = "untagged"
        countType   = "sinceImagePushed"
        countUnit   = "days"
        countNumber = var.untagged_image_expiry_days
      }
      action = { type = "expire" }
    }],
    var.keep_tagged_images == null ? [] : [{
      rulePriority = 2
      description  = "Keep the newest ${var.keep_tagged_images} tagged images"
      selection = {
        tagStatus      = "tagged"
        tagPatternList = ["*"]
        countType      = "imageCountMoreThan"
        countNumber    = var.keep_tagged_images
      }
      action = { type = "expire" }
    }],
  )
}

resource "aws_ecr_repository" "this" {
  for_each = var.create_repositories ? local.names : toset([])

  name                 = each.key
  image_tag_mutability = "IMMUTABLE"
  # Deleting a repository that still holds images fails unless this is set.
  force_delete = var.force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = var.kms_key_arn == null ? "AES256" : "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = var.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  for_each = aws_ecr_repository.this

  repository = each.value.name
  policy     = jsonencode({ rules = local.lifecycle_rules })
}

locals {
  repository_urls = var.create_repositories ? { for name, repo in aws_ecr_repository.this : name => repo.repository_url } : { for name in local.names : name => "${local.registry_host}/${name}" }
  repository_arns = var.create_repositories ? { for name, repo in aws_ecr_repository.this : name => repo.arn } : { for name in local.names : name => "arn:${data.aws_partition.current.partition}:ecr:${data.aws_region.current.name}:${local.registry_id}:repository/${name}" }
}
