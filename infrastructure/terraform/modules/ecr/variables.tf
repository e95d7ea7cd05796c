variable "repositories" {
  description = "Names of the repositories, one per service image (srvthreds-engine, ...)."
  type        = list(string)

  validation {
    condition     = length(var.repositories) > 0
    error_message = "At least one repository name is needed."
  }

  validation {
    condition     = alltrue([for name in var.repositories : can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", name))])
    error_message = "Repository names are lower-case letters, digits and . _ - (and / for namespaces), starting and ending with a letter or digit."
  }
}

variable "create_repositories" {
  description = "Create the repositories (true), or only refer to the ones another environment in the same account and region created (false): the outputs are the same."
  type        = bool
  default     = true
}

variable "untagged_image_expiry_days" {
  description = "Days after its push an untagged image is expired."
  type        = number
  default     = 7

  validation {
    condition     = var.untagged_image_expiry_days >= 1 && floor(var.untagged_image_expiry_days) == var.untagged_image_expiry_days
    error_message = "untagged_image_expiry_days must be a whole number of at least 1."
  }
}

variable "keep_tagged_images" {
  description = "Keep only the newest this many tagged images of each repository (older ones expire); null keeps every tagged image. The policy does not know which tags a cluster still runs."
  type        = number
  default     = null

  validation {
    condition     = var.keep_tagged_images == null || try(var.keep_tagged_images >= 1 && floor(var.keep_tagged_images) == var.keep_tagged_images, false)
    error_message = "keep_tagged_images must be null or a whole number of at least 1."
  }
}

variable "force_delete" {
  description = "Let Terraform delete a repository that still holds images (destroys them)."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "KMS key ARN for the repositories' encryption at rest; null uses AES256 (S3-managed keys)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every repository."
  type        = map(string)
  default     = {}
}
